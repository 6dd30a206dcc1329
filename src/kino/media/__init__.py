"""Uploads, storage, probing, the HLS ladder, images and subtitles of the online cinema."""
