"""The studio's language: Chinese unless the visitor chose English with the switch (a cookie).

Django's LocaleMiddleware would follow the browser's Accept-Language header, which would show an
English browser the English UI before anyone chose it; the product's default is Chinese.
"""
from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class StudioLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _ in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
