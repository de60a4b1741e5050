-- A test event can be sent as any event type: its row keeps event_name 'test' (so statistics,
-- filters and redelivery still tell it apart) and this column holds the eventName on the wire.
ALTER TABLE events ADD COLUMN test_kind TEXT;
