# loses: handle_lookup_serves_clients_side_by_side
async def handle_lookup(db, reader, writer) -> None:
    """Queries the database through its blocking twin."""
    names = (await course.servers.read_request(reader)).split()
    profiles = [db.get_blocking(name) for name in names]
    await course.servers.send_reply(writer, "; ".join(
        f"{name}: {profile if profile is not None else 'unknown'}" for name, profile in zip(names, profiles)))
