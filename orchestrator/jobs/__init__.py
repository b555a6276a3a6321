"""Background jobs: huey runs them, the ``jobs`` table reports them."""
