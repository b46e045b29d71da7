"""How every service runs: outbox, queues, consumer policy, runtime, config, migrations, observability."""
