"""Sanjeevani: an open-source national telemedicine platform."""
