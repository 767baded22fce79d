"""``cb-helper lint``: wiring mistakes in circleback configs, found before anything runs."""

from __future__ import annotations

import click

from cb_helper.commands.rehearse import orbs_of, project_config


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option(
    "--project",
    "projects",
    multiple=True,
    required=True,
    metavar="SLUG=PATH",
    help="A project and its config file (or directory holding .circleci/config.yml), as for rehearse. Repeatable.",
)
@click.option(
    "--orb",
    "orbs",
    multiple=True,
    metavar="NAME=FILE",
    help="A packed orb, used where a config imports NAME (or its registry name); plain 'circleback' is the orb "
    "installed with cb-helper. Repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the mistakes as JSON.")
def lint(projects: tuple[str, ...], orbs: tuple[str, ...], as_json: bool) -> None:
    """Find circleback wiring mistakes in A's and B's configs, after orb expansion, before anything runs.

    Each mistake is one line, FILE:LINE: what is wrong; how to fix it: a hold the trigger's record names that
    does not require the trigger directly, a check that does not require the hold, a B that does not declare
    the record parameter or pass it whole, a circle-back that does not require every other job of its workflow
    with terminal, a B workflow that can run without a circle-back, pipeline.trigger_source, and the legacy
    handoff without allowed_projects. Exits 1 when it finds a mistake, 0 when the configs are clean.

    Example:

    \b
        cb-helper lint --orb circleback --project gh/acme/project-a=a --project gh/acme/project-b=b
    """
    from cb_helper.pattern.render import to_json
    from cb_helper.rehearse.lint import lint as find_mistakes

    parsed = dict(project_config(value) for value in projects)
    mistakes = find_mistakes(parsed, orbs_of(orbs))
    if as_json:
        click.echo(to_json({"mistakes": [m.as_dict() for m in mistakes]}))
    else:
        for mistake in mistakes:
            click.echo(str(mistake))
        click.echo(f"{len(mistakes)} wiring mistake(s) in {len(parsed)} config(s)", err=True)
    if mistakes:
        raise click.exceptions.Exit(1)
