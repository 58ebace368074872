"""Coordination between instances of the bot through Redis (``REDIS_URL``).

* :mod:`bot.coordination.link`: the connection, key prefix and outage tracking;
* :mod:`bot.coordination.send_slots`: one Halo request budget for every instance, lookups
  first;
* :mod:`bot.coordination.pauses`: Halo's 429 pauses, seen by one instance, kept by all;
* :mod:`bot.coordination.command_limits`: per-server and per-member limits for all;
* :mod:`bot.coordination.answers`: cached Halo answers and in-flight lookups for all.

Each shared piece is given an in-process fallback by its caller and uses it while Redis
is unreachable. This package sits below ``bot.halo`` and ``bot.core``: it imports only
``bot.common`` (and the ``redis`` package).
"""
