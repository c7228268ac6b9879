"""What people read: the report's blocks, one module per part of the page.

``impact.display`` re-exports the sections that notebook templates show.
"""
