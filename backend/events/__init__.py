"""Functions that run because something happened: triggers fired by callers or feeds (alarms,
Kafka topics), rules binding them to actions, and what keeps every fire answered 202 from being lost."""
