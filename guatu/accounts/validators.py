from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from guatu.accounts.models import PASSWORD_HISTORY


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    # Django's own message changed wording and its Chinese catalogue has not caught up; the
    # people who read this message read Chinese.
    def get_error_message(self):
        return _("密码长度太短：至少需要 %(n)d 个字符") % {"n": self.min_length}

    def get_help_text(self):
        return _("密码至少 %(n)d 个字符") % {"n": self.min_length}


# The four classes of character GB/T 22239 counts; three of them make a complex password.
CHARACTER_CLASSES = (
    (str.isupper, _("大写字母")),
    (str.islower, _("小写字母")),
    (str.isdigit, _("数字")),
    (lambda c: not c.isalnum(), _("符号")),
)


class ComplexityValidator:
    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        # Letters outside ASCII (汉字) count as neither case: a password of Chinese characters is a
        # phrase, not a mix of classes.
        present = [
            label for test, label in CHARACTER_CLASSES if any(c.isascii() and test(c) for c in password)
        ]
        if len(present) < self.min_classes:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self):
        names = "、".join(str(label) for _test, label in CHARACTER_CLASSES)
        return _("密码须包含%(names)s中的至少 %(n)d 类") % {"names": names, "n": self.min_classes}


class HistoryValidator:
    """Not the current password nor one of the ones before it (five in all)."""

    def validate(self, password, user=None):
        if user is None or not user.pk:
            return
        for encoded in [user.password, *user.previous_passwords]:
            if encoded and check_password(password, encoded):
                raise ValidationError(self.get_help_text(), code="password_reused")

    def get_help_text(self):
        return _("新密码不能与最近 %(n)d 次使用过的密码相同") % {"n": PASSWORD_HISTORY}
