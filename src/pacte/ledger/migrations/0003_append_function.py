"""On PostgreSQL, one function appends a batch of entries: one round trip, the state row locked briefly.

Python validates each entry and encodes its canonical JSON around the two values only known under the
lock (``seq`` and ``time``); the function takes the lock, fills those in, hashes the leaf exactly as
``services.entry_leaf_hash`` does, extends the Merkle frontier (``tree.frontier_append``), writes the
entries, the nodes and the state, and returns for each entry its number, time and leaf hash (plus the
frontier when a tree head is due). In autocommit the lock is held only while the statement runs.
"""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION pacte_ledger_append(
    p_types text[], p_subjects uuid[], p_actors text[], p_payloads jsonb,
    p_heads bytea[], p_mids bytea[], p_tails bytea[], p_sth_every bigint
) RETURNS TABLE (o_seq bigint, o_time timestamptz, o_leaf bytea, o_frontier jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_size bigint;
    v_frontier jsonb;
    v_now timestamptz;
    v_leaf bytea;
    v_node bytea;
    v_level integer;
    v_last integer;
    i integer;
BEGIN
    SELECT s.size, s.frontier INTO v_size, v_frontier FROM ledger_ledgerstate s WHERE s.id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO ledger_ledgerstate (id, size, frontier) VALUES (1, 0, '[]'::jsonb)
            ON CONFLICT (id) DO NOTHING;
        SELECT s.size, s.frontier INTO v_size, v_frontier FROM ledger_ledgerstate s WHERE s.id = 1 FOR UPDATE;
    END IF;
    FOR i IN 1 .. coalesce(cardinality(p_types), 0) LOOP
        -- services.format_time: RFC 3339 UTC with microseconds
        v_now := clock_timestamp();
        v_leaf := sha256('\x00'::bytea || p_heads[i] || convert_to(v_size::text, 'UTF8') || p_mids[i]
            || convert_to(to_char(v_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8')
            || p_tails[i]);
        INSERT INTO ledger_entry (seq, "time", type, subject_id, actor, payload, leaf_hash)
            VALUES (v_size, v_now, p_types[i], p_subjects[i], p_actors[i], p_payloads -> (i - 1), v_leaf);
        INSERT INTO ledger_node (level, "index", hash, completed_at) VALUES (0, v_size, v_leaf, v_size);
        -- tree.frontier_append: merge the equal-level subtrees at the right end of the frontier
        v_level := 0;
        v_node := v_leaf;
        v_last := jsonb_array_length(v_frontier) - 1;
        WHILE v_last >= 0 AND (v_frontier -> v_last ->> 0)::integer = v_level LOOP
            v_node := sha256('\x01'::bytea || decode(v_frontier -> v_last ->> 1, 'hex') || v_node);
            v_frontier := v_frontier - v_last;
            v_last := v_last - 1;
            v_level := v_level + 1;
            INSERT INTO ledger_node (level, "index", hash, completed_at)
                VALUES (v_level, ((v_size + 1) >> v_level) - 1, v_node, v_size);
        END LOOP;
        v_frontier := v_frontier || jsonb_build_array(jsonb_build_array(v_level, encode(v_node, 'hex')));
        v_size := v_size + 1;
        o_seq := v_size - 1;
        o_time := v_now;
        o_leaf := v_leaf;
        o_frontier := CASE WHEN v_size % p_sth_every = 0 THEN v_frontier END;
        RETURN NEXT;
    END LOOP;
    UPDATE ledger_ledgerstate SET size = v_size, frontier = v_frontier WHERE id = 1;
END;
$$;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "DROP FUNCTION IF EXISTS pacte_ledger_append(text[], uuid[], text[], jsonb, bytea[], bytea[], bytea[], bigint)"
    )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_append_only_trigger")]
    operations = [migrations.RunPython(forwards, backwards)]
