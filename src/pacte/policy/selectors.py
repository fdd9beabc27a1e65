def policy_active():
    raise RuntimeError("not built yet")
