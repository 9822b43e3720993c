# loses: handle_lookup_serves_clients_side_by_side
async def handle_lookup(db, reader, writer) -> None:
    """Queries the database through its blocking twin."""
    name = await course.servers.read_request(reader)
    profile = db.get_blocking(name)
    await course.servers.send_reply(writer, f"{name}: {profile if profile is not None else 'unknown'}")
