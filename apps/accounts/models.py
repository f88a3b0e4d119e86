from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    """The roles of the clinic. Each is a Group of the same name holding that role's permissions."""

    STAFF = "staff", "Staff"
    PHYSICIAN = "physician", "Physician"
    ADMIN = "admin", "Admin"
    # In a network of sites: the network's pooled outcome figures, and no patient of any site (README, "Sites").
    NETWORK = "network", "Network analyst"


class User(AbstractUser):
    """A person who signs in: front desk, nurse, physician or admin (see Role)."""

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def has_role(self, role: Role | str) -> bool:
        return self.groups.filter(name=role).exists()

    @property
    def display_name(self) -> str:
        return str(self)
