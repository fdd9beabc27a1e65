MASTER_KEY = "vault.master_key"
INTEGRITY = "vault.integrity"
NO_CONTEXT = "vault.no_context"
