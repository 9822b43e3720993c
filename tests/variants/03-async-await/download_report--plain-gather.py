# loses: download_report_collects_errors
async def download_report(urls: list[str]) -> tuple[dict, dict]:
    """Plain gather: the first failure is raised to the caller and the other downloads are abandoned."""
    pages = await asyncio.gather(*(course.download(url) for url in urls))
    return dict(zip(urls, pages)), {}
