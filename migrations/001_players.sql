-- The players table casino-player reads, and the original five players.
-- Idempotent: running it again keeps the table and any edits to its rows.
CREATE TABLE IF NOT EXISTS players (
	id bigserial PRIMARY KEY,
	email text NOT NULL,
	last_signed_in_at timestamptz
);

INSERT INTO players (id, email, last_signed_in_at) VALUES
	(10, 'john@example.com', now() - interval '1 hour'),
	(11, 'jane@example.com', now() - interval '3 hours'),
	(12, 'bob@example.com', now() - interval '2 days'),
	(13, 'rick@example.com', now() - interval '5 hours'),
	(14, 'morty@example.com', now() - interval '1 day')
ON CONFLICT (id) DO NOTHING;

-- Explicit ids do not advance the sequence: move it past them so that a
-- plain INSERT of a new player does not collide with player 10.
SELECT setval(pg_get_serial_sequence('players', 'id'),
	(SELECT greatest(max(id), 1) FROM players));
