from accounts.tests.conftest import alice, bob, multi_user, staff  # noqa: F401  (the same three accounts)
