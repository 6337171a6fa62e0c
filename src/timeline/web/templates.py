"""The viewer's templates: Litestar's Jinja engine on one autoescaping environment, strict
about undefined names (a typo in a template is an error, not a blank), with the words as
globals."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from markupsafe import Markup

from timeline.domain import axis, words
from timeline.web.assets import stylesheet

TEMPLATES = Path(__file__).with_name("templates")


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        occurred_words=words.occurred_words,
        day_words=words.day_words,
        time_words=words.time_words,
        quantity_words=words.quantity_words,
        kind_words=words.kind_words,
        precision_words=words.precision_words,
        status_words=words.status_words,
        event_words=words.event_words,
        value_words=words.value_words,
        ticks=axis.ticks,
        stylesheet=Markup(stylesheet()[0]),
    )
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """The template setup the app passes to Litestar."""
    return TemplateConfig(instance=JinjaTemplateEngine(engine_instance=environment()))
