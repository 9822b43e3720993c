# loses: handle_kv_serves_many_clients_side_by_side
async def handle_kv(db, reader, writer) -> None:
    """Answers the first command of a connection only, then returns (and the server hangs up)."""
    line = await reader.readline()
    command, _, rest = line.decode().rstrip("\n").partition(" ")
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
