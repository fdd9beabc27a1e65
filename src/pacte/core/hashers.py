"""Password hashing: argon2id with OWASP's parameters (19 MiB, t=2, p=1)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class PacteArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id, 19 MiB memory, 2 iterations, 1 lane (OWASP Password Storage Cheat Sheet)."""

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1
