"""Moved to ``consultations.api_documents`` (reading a patient's documents is the care-team
policy's answer, a layer above ``patients``). Kept only while ``config.urls`` includes this
path: the one import here that points up; delete it once ``config.urls`` includes
``sanjeevani.consultations.api_documents``."""

from sanjeevani.consultations.api_documents import app_name, urlpatterns

__all__ = ["app_name", "urlpatterns"]
