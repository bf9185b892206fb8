from commerce.platform.migrations import run_env

run_env()
