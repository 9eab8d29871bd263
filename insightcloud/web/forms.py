from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from insightcloud.accounts.models import User


class LoginForm(AuthenticationForm):
    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if user.api_only:
            raise forms.ValidationError("This account may only use API keys.", code="api_only")


class FirstAdminForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class EnqueueForm(forms.Form):
    """The Jobs page's "enqueue now": a job kind the user may enqueue, for a cloud they manage."""

    kind = forms.ChoiceField(label="Job")
    cloud = forms.ModelChoiceField(queryset=None, label="Cloud")
    full = forms.BooleanField(required=False, label="Full evaluation (every resource)")

    def __init__(self, *args, actor: User, **kwargs) -> None:
        from insightcloud.accounts.permissions import clouds_managed_by, job_kinds_enqueueable_by

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = list(job_kinds_enqueueable_by(actor).items())
        self.fields["cloud"].queryset = clouds_managed_by(actor).order_by("name")
