"""The tracker projector: a nameko service keeping the tracker's Redis read model current."""
