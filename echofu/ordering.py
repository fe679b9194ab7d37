"""The order of every list of rows (API lists, history, the admin).

created_at alone leaves rows made in the same instant (a batch import, two quick requests, a coarse
clock) in whatever order the database happens to return them, which may differ between calls, so a
list cut at its limit could show a different row each time: the primary key breaks the tie (the row
made last first where it counts up; jobs by task_id)."""

NEWEST_FIRST = ("-created_at", "-pk")
OLDEST_FIRST = ("created_at", "pk")
