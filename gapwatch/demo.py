"""Placeholder replaced below."""
import click


@click.command("demo")
def demo_command():
    """Load the West Midlands demo region."""
