# loses: handle_kv_serves_many_clients_side_by_side
async def handle_kv(db, reader, writer) -> None:
    """Right answers, but through the database's blocking twins."""
    while line := await reader.readline():
        command, _, rest = line.decode().rstrip("\n").partition(" ")
        if command == "SET":
            key, _, value = rest.partition(" ")
            db.insert_blocking(key, value)
            reply = "OK"
        elif command == "GET":
            value = db.get_blocking(rest)
            reply = "NOT FOUND" if value is None else value
        else:
            reply = "ERROR unknown command"
        writer.write(reply.encode() + b"\n")
        await writer.drain()
