# loses: handle_kv_serves_many_clients_side_by_side
store_locks = {}


async def handle_kv(db, reader, writer) -> None:
    """Holds one lock for every client's query: the connections wait for each other."""
    store_lock = store_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    while line := await reader.readline():
        command, _, rest = line.decode().rstrip("\n").partition(" ")
        async with store_lock:
            if command == "SET":
                key, _, value = rest.partition(" ")
                await db.insert(key, value)
                reply = "OK"
            elif command == "GET":
                value = await db.get(rest)
                reply = "NOT FOUND" if value is None else value
            else:
                reply = "ERROR unknown command"
        writer.write(reply.encode() + b"\n")
        await writer.drain()
