"""Notifications: after commit only, once per (user, key), e-mail by preference, the inbox."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from guatu.accounts.models import Role
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_user
from guatu.problems import services
from guatu.problems.models import DeliveryMode, Notification, NotificationEvent, NotificationPreference

pytestmark = pytest.mark.django_db

KEY = "assignment:problem:1:7"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://guatu.example.gov.cn"


def _notify(
    users,
    key=KEY,
    event=NotificationEvent.ASSIGNMENT,
    title="问题“用地指标不足”已交办给您",
    url="/problems/1/",
):
    services.notify(event=event, users=users, key=key, title=title, body="请在 3 日内签收。", url=url)


def _mailed(users):
    return sorted(address for message in mail.outbox for address in message.to)


@pytest.fixture
def people(world):
    a = make_user(Role.DEPARTMENT, username="n_a", email="a@example.cn", unit=world.department)
    b = make_user(Role.DEPARTMENT, username="n_b", email="b@example.cn", unit=world.department)
    return a, b


def test_nothing_before_commit_then_row_and_mail_after(people, django_capture_on_commit_callbacks):
    a, b = people
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _notify([a, b])
    assert Notification.objects.count() == 0 and mail.outbox == []

    for callback in callbacks:
        callback()
    assert sorted(Notification.objects.values_list("user__username", flat=True)) == ["n_a", "n_b"]
    assert _mailed(mail.outbox) == ["a@example.cn", "b@example.cn"]
    message = mail.outbox[0]
    assert message.subject == "【挂图作战】问题“用地指标不足”已交办给您"
    assert "请在 3 日内签收。" in message.body
    assert "https://guatu.example.gov.cn/problems/1/" in message.body
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0


def test_rollback_sends_nothing(people, django_capture_on_commit_callbacks):
    a, b = people
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                _notify([a, b])
                raise RuntimeError("写入失败")
        except RuntimeError:
            pass
    assert callbacks == []
    assert Notification.objects.count() == 0 and mail.outbox == []


def test_same_key_twice_in_one_transaction_once(people, django_capture_on_commit_callbacks):
    a, b = people
    with django_capture_on_commit_callbacks(execute=True):
        _notify([a, b])
        _notify([a, b, a])
    assert Notification.objects.filter(key=KEY).count() == 2
    assert _mailed(mail.outbox) == ["a@example.cn", "b@example.cn"]


def test_same_key_in_two_transactions_once_and_new_user_only(
    people, world, django_capture_on_commit_callbacks
):
    a, b = people
    with django_capture_on_commit_callbacks(execute=True):
        _notify([a])
    with django_capture_on_commit_callbacks(execute=True):
        _notify([a, b])
    assert Notification.objects.filter(user=a).count() == 1
    assert Notification.objects.filter(user=b).count() == 1
    assert _mailed(mail.outbox) == ["a@example.cn", "b@example.cn"]
    # A third call with the same key: nothing at all.
    with django_capture_on_commit_callbacks(execute=True):
        _notify([a, b])
    assert Notification.objects.count() == 2 and len(mail.outbox) == 2


def test_concurrent_insert_of_same_key_is_left_to_the_other_call(people):
    """The race: another transaction inserted (a, key) after our existence check; the unique
    constraint refuses ours inside a savepoint and only b's row counts as inserted here."""
    a, b = people
    Notification.objects.create(user=a, event="assignment", key=KEY, title="已由另一进程写入")
    created = services._insert(
        user_ids=[a.pk, b.pk], event="assignment", key=KEY, title="问题已交办", body="", url=""
    )
    assert [row.user_id for row in created] == [b.pk]
    assert Notification.objects.get(user=a).title == "已由另一进程写入"  # the transaction is still usable


def test_email_only_for_immediate_mode(people, django_capture_on_commit_callbacks):
    a, b = people
    NotificationPreference.objects.create(user=a, event="assignment", mode=DeliveryMode.DIGEST)
    NotificationPreference.objects.create(user=b, event="overdue", mode=DeliveryMode.DIGEST)
    with django_capture_on_commit_callbacks(execute=True):
        _notify([a, b])
    assert Notification.objects.count() == 2
    assert _mailed(mail.outbox) == ["b@example.cn"]
    assert Notification.objects.get(user=a).emailed_at is None  # left for the digest


def test_inactive_user_and_user_without_address_get_in_app_only(world, django_capture_on_commit_callbacks):
    inactive = make_user(Role.COUNTY, username="n_gone", email="gone@example.cn", is_active=False)
    no_address = make_user(Role.COUNTY, username="n_none", email="")
    with django_capture_on_commit_callbacks(execute=True):
        _notify([inactive, no_address])
    assert Notification.objects.count() == 2
    assert mail.outbox == []


def test_failed_mail_does_not_break_the_committed_action(
    people, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "guatu.problems.tests.test_notifications.BrokenBackend"
    a, _b = people
    with django_capture_on_commit_callbacks(execute=True):
        _notify([a])
    row = Notification.objects.get(user=a)
    assert row.emailed_at is None


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("SMTP 服务器无法连接")


# --- preferences


def test_preferences_saved_with_change_log_and_bad_mode_saves_nothing(people):
    a, _b = people
    before = ChangeRecord.objects.count()
    services.notification_preferences_save(
        actor=a, modes={"assignment": "digest", "overdue": "immediate", "closure": "digest"}
    )
    assert dict(NotificationPreference.objects.filter(user=a).values_list("event", "mode")) == {
        "assignment": "digest",
        "overdue": "immediate",
        "closure": "digest",
    }
    assert ChangeRecord.objects.count() == before + 3
    # Unchanged modes write nothing; a changed one writes one record.
    services.notification_preferences_save(actor=a, modes={"assignment": "digest", "overdue": "digest"})
    assert ChangeRecord.objects.count() == before + 4

    with pytest.raises(ValidationError) as err:
        services.notification_preferences_save(
            actor=a, modes={"assignment": "immediate", "closure": "weekly"}
        )
    assert "“办结销号”的通知方式“weekly”无效" in str(err.value)
    assert NotificationPreference.objects.get(user=a, event="assignment").mode == "digest"


def test_settings_page_row_per_event_and_save(client, people):
    a, _b = people
    client.force_login(a)
    url = reverse("problems:notification_settings")
    page = client.get(url).content.decode()
    for _code, label in NotificationEvent.choices:
        assert str(label) in page
    data = {event: "immediate" for event in NotificationEvent.values} | {"due_soon": "digest"}
    response = client.post(url, data)
    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=a, event="due_soon").mode == "digest"

    bad = client.post(url, {**data, "overdue": "weekly"})
    assert bad.status_code == 400
    assert "“已逾期”的通知方式“weekly”无效" in bad.content.decode()
    assert NotificationPreference.objects.filter(user=a, event="overdue").count() == 1
    assert NotificationPreference.objects.get(user=a, event="overdue").mode == "immediate"


# --- inbox


def _row(user, key, title="通知", url="/problems/1/", read=False):
    from django.utils import timezone

    return Notification.objects.create(
        user=user, event="assignment", key=key, title=title, url=url, read_at=timezone.now() if read else None
    )


def test_inbox_lists_own_unread_first_and_newest_first(client, people):
    a, b = people
    old_unread = _row(a, "k1", "旧的未读")
    read = _row(a, "k2", "已读的", read=True)
    new_unread = _row(a, "k3", "新的未读")
    _row(b, "k4", "别人的通知")
    client.force_login(a)
    response = client.get(reverse("problems:notification_list"))
    assert [n.pk for n in response.context["page_obj"]] == [new_unread.pk, old_unread.pk, read.pk]
    assert "别人的通知" not in response.content.decode()


@pytest.mark.parametrize("reader", ["n_b", "sysadmin", "secadmin", "auditor", "city"])
def test_no_one_opens_or_marks_another_users_notification(client, people, world, reader):
    a, b = people
    row = _row(a, "k1")
    user = b if reader == "n_b" else world.users[reader]
    client.force_login(user)
    assert client.get(reverse("problems:notification_open", args=[row.pk])).status_code == 404
    client.post(reverse("problems:notification_read_all"))
    row.refresh_from_db()
    assert row.read_at is None


def test_open_marks_read_and_goes_to_local_path(client, people):
    a, _b = people
    row = _row(a, "k1", url="/problems/12/")
    client.force_login(a)
    response = client.get(reverse("problems:notification_open", args=[row.pk]))
    assert response.status_code == 302 and response["Location"] == "/problems/12/"
    row.refresh_from_db()
    assert row.read_at is not None


@pytest.mark.parametrize(
    "url", ["https://evil.example/x", "//evil.example/x", "/\\evil.example/x", "javascript:alert(1)"]
)
def test_open_refuses_an_external_url(client, people, url):
    a, _b = people
    row = _row(a, "k1", url=url)
    client.force_login(a)
    response = client.get(reverse("problems:notification_open", args=[row.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("problems:notification_list")
    row.refresh_from_db()
    assert row.read_at is not None


def test_mark_all_read_marks_only_own(client, people):
    a, b = people
    _row(a, "k1")
    _row(a, "k2")
    other = _row(b, "k3")
    client.force_login(a)
    response = client.post(reverse("problems:notification_read_all"), follow=True)
    assert "已将 2 条通知标为已读" in response.content.decode()
    assert Notification.objects.filter(user=a, read_at__isnull=True).count() == 0
    other.refresh_from_db()
    assert other.read_at is None


def test_bell_shows_own_unread_count_for_every_role(client, people, world):
    a, b = people
    _row(a, "k1")
    _row(a, "k2")
    _row(a, "k3", read=True)
    _row(b, "k4")
    client.force_login(a)
    assert 'data-unread="2"' in client.get(reverse("problems:notification_settings")).content.decode()
    client.force_login(world.users["auditor"])
    page = client.get(reverse("problems:notification_list")).content.decode()
    assert "data-unread" not in page and reverse("problems:notification_list") in page


def test_unread_count_is_one_query_whatever_the_number_of_notifications(
    client, people, django_assert_num_queries
):
    a, _b = people
    client.force_login(a)
    url = reverse("problems:notification_settings")
    client.get(url)  # warm caches (content types, sessions)
    # session, user, the preferences, the unread count, and the session saved (savepoint, update,
    # release: SESSION_SAVE_EVERY_REQUEST)
    with django_assert_num_queries(7):
        client.get(url)
    for n in range(5):
        _row(a, f"k{n}")
    with django_assert_num_queries(7):
        page = client.get(url).content.decode()
    assert 'data-unread="5"' in page


def test_anonymous_pages_have_no_bell_query(client, django_assert_num_queries):
    from guatu.problems.context_processors import notifications

    class Request:
        user = type("Anon", (), {"is_authenticated": False})()

    with django_assert_num_queries(0):
        assert notifications(Request()) == {}
    assert client.get(reverse("problems:notification_list")).status_code == 302  # to the login page
