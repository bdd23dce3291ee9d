"""The shared world: many emulator processes, on one host or many, serving one world kept in Redis.

The world is a deterministic state machine (one seeded id factory, one clock that nothing else
reads). In shared mode (`--store redis://HOST:PORT/DB`) every change to it is an entry of one
Redis Stream, the world's log, and every process applies every entry in the log's order to its
own copy of the world, so all the copies go through the same states:

- a request that may change the world (every provider request, the sink, the control API's
  writes) is appended to the log whole (method, path, headers, body, the time) and answered by
  the process that received it once it has applied the entry itself (`requests.py`);
- time moves by entries too: under the real clock each entry fires what fell due before its
  time, and the one process holding the ticker's lease appends ticks while the log is quiet;
  under the virtual clock a clock move is a series of entries (`clock.py`);
- each webhook attempt is made by the one process that claims it in Redis (with a lease that a
  killed process loses), and its result is appended to the log, where every copy records it
  (`deliveries.py`);
- a read of the control API waits until its process has applied everything the log held when
  the read arrived.

Ordering comes from the stream, atomicity from each entry being applied whole before the next,
durability from Redis (with AOF on, every entry is on disk before it is answered). A process that
starts reads the log from its beginning, so it joins the world where the others are.
"""
