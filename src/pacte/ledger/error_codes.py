BAD_TYPE = "ledger.bad_type"
BAD_PAYLOAD = "ledger.bad_payload"
BAD_ACTOR = "ledger.bad_actor"
NO_ENTRY = "ledger.no_entry"
