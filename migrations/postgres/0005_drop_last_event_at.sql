-- The last event's time is read from events; a column every event updated was a hot row.
ALTER TABLE applications DROP COLUMN last_event_at;
