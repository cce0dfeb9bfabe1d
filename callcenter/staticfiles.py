"""WhiteNoise for both servers: under ASGI, static files leave as an async stream.

WhiteNoise's middleware is synchronous, so under ASGI Django would stream its file
responses from a synchronous iterator (and warn that it must). This one answers async
requests itself, reading the file in a worker thread and handing Django an async iterator.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response, *args, **kwargs):
        super().__init__(get_response, *args, **kwargs)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        return super().__call__(request)

    def _static_file(self, request):
        if self.autorefresh:
            return self.find_file(request.path_info)
        return self.files.get(request.path_info)

    async def _acall(self, request):
        static_file = await sync_to_async(self._static_file)(request)
        if static_file is None:
            return await self.get_response(request)
        response = await sync_to_async(self.serve)(static_file, request)
        if response.streaming and not response.is_async:
            response.streaming_content = _async_chunks(response.streaming_content)
        return response


async def _async_chunks(chunks):
    for chunk in await sync_to_async(list, thread_sensitive=False)(chunks):
        yield chunk
