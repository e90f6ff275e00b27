"""FastAPI dependencies: the container and the callers' identities."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from handoff_api.container import Container


def get_container(request: Request) -> Container:
    """The process's container, set by create_app."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]
