"""Notifications: unread first, paginated, marked read, and only ever the caller's."""

from __future__ import annotations

from typing import Any

from core.models import Notification, QuestionStatus
from core.repository import NotificationRepository
from tests.api.conftest import Api, User

NOTIFICATIONS = "/api/v1/notifications"


def _notify(user: User, question_id: str) -> str:
    notification = NotificationRepository().add(
        Notification(
            notification_id=question_id,
            user_id=user.user_id,
            question_id=question_id,
            status=QuestionStatus.ANSWERED,
            message="Your question has been answered.",
        )
    )
    return notification.notification_id


def _ids(body: dict[str, Any]) -> list[str]:
    return [item["notification_id"] for item in body["items"]]


def test_unread_come_first_and_marking_read_moves_them_down(api: Api) -> None:
    ana = api.user("ana")
    ids = [_notify(ana, f"01Q{n}") for n in range(4)]  # 01Q0 oldest ... 01Q3 newest

    listed = api.client.get(NOTIFICATIONS, headers=ana.headers).json()
    assert _ids(listed) == list(reversed(ids))
    assert listed["unread_count"] == 4

    marked = api.client.post(f"{NOTIFICATIONS}/{ids[3]}/read", headers=ana.headers)
    assert marked.status_code == 200
    assert marked.json()["read_at"] is not None
    again = api.client.post(f"{NOTIFICATIONS}/{ids[3]}/read", headers=ana.headers)
    assert again.json()["read_at"] == marked.json()["read_at"]  # marking twice changes nothing

    listed = api.client.get(NOTIFICATIONS, headers=ana.headers).json()
    assert _ids(listed) == [ids[2], ids[1], ids[0], ids[3]]
    assert listed["unread_count"] == 3


def test_pages_run_through_unread_then_read(api: Api) -> None:
    ana = api.user("ana")
    ids = [_notify(ana, f"01Q{n}") for n in range(5)]
    for read in (ids[1], ids[3]):
        api.client.post(f"{NOTIFICATIONS}/{read}/read", headers=ana.headers)

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.client.get(NOTIFICATIONS, params=params, headers=ana.headers).json()
        assert len(page["items"]) <= 2
        seen += _ids(page)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [ids[4], ids[2], ids[0], ids[3], ids[1]]


def test_another_users_notification_cannot_be_seen_or_marked(api: Api) -> None:
    ana, bia = api.user("ana"), api.user("bia")
    notification_id = _notify(ana, "01QANA")
    response = api.client.post(f"{NOTIFICATIONS}/{notification_id}/read", headers=bia.headers)
    assert response.status_code == 404
    assert api.client.get(NOTIFICATIONS, headers=bia.headers).json()["items"] == []
    mine = api.client.get(NOTIFICATIONS, headers=ana.headers).json()
    assert mine["items"][0]["read_at"] is None


def test_unknown_notification_and_bad_cursor(api: Api) -> None:
    ana = api.user("ana")
    assert api.client.post(f"{NOTIFICATIONS}/01QNONE/read", headers=ana.headers).status_code == 404
    bad = api.client.get(NOTIFICATIONS, params={"cursor": "e30"}, headers=ana.headers)
    assert bad.status_code == 422
