from django.contrib.auth import password_validation
from django.utils.translation import gettext as _


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    # Django's own message changed wording and its Chinese catalogue has not caught up; the
    # people who read this message read Chinese.
    def get_error_message(self):
        return _("密码长度太短：至少需要 %(n)d 个字符") % {"n": self.min_length}

    def get_help_text(self):
        return _("密码至少 %(n)d 个字符") % {"n": self.min_length}
