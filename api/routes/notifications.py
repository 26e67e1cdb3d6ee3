from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import CurrentUser, Notifications
from api.errors import documented
from api.schemas import NotificationList, NotificationPublic, ResourceId

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get(
    "",
    response_model=NotificationList,
    responses=documented(401, 503),
    summary="The caller's notifications, unread first",
)
def list_notifications(
    principal: CurrentUser,
    notifications: Notifications,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> NotificationList:
    page = notifications.page(principal.user_id, limit=limit, cursor=cursor)
    return NotificationList(
        items=[NotificationPublic.of(n) for n in page.items],
        next_cursor=page.next_cursor,
        unread_count=notifications.unread_count(principal.user_id),
    )


@router.post(
    "/{notification_id}/read",
    response_model=NotificationPublic,
    responses=documented(401, 404, 503),
    summary="Mark a notification read",
)
def mark_read(
    notification_id: Annotated[ResourceId, Path()],
    principal: CurrentUser,
    notifications: Notifications,
) -> NotificationPublic:
    return NotificationPublic.of(notifications.mark_read(principal.user_id, notification_id))
