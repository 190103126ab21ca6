import pytest
from django.contrib.auth import get_user_model

from sanjeevani.accounts.models import Role


@pytest.mark.django_db
def test_createsuperuser_makes_a_national_administrator():
    user = get_user_model().objects.create_superuser("root-admin", None, "a long pass phrase 9")
    assert user.role == Role.NATIONAL_ADMIN
    assert user.is_national_admin
