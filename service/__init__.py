"""staywatch: deadline and reminder daemon for foreign residents of Korea."""
