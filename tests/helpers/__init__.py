"""What tests share besides fixtures (those are in tests/conftest.py), by job:

* ``mail``        the invented people, the intake form, and mail as a client writes it;
* ``harness``     the service on Maildirs and a database, driven one step at a time by a clock;
* ``servers``     what the real-server fixtures need (the users, failing loudly when a server
                  cannot run, keeping a failed run's files);
* ``stack``       the service configured for the session's mail stack, and a worker's intake;
* ``migrations``  a database of schema 0001 with data, and what upgrading it must keep.

The real servers themselves are in testbed/, shared with bench/.
"""
