# loses: handle_kv_serves_many_clients_side_by_side
async def handle_kv(db, reader, writer) -> None:
    """Splits SET on every space, so a value with spaces loses everything after its first word."""
    while line := await reader.readline():
        words = line.decode().split()
        if words[:1] == ["SET"] and len(words) >= 3:
            await db.insert(words[1], words[2])
            reply = "OK"
        elif words[:1] == ["GET"] and len(words) == 2:
            value = await db.get(words[1])
            reply = "NOT FOUND" if value is None else value
        else:
            reply = "ERROR unknown command"
        writer.write(reply.encode() + b"\n")
        await writer.drain()
