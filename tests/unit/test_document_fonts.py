"""WeasyPrint's fonts are made once per thread: one made per document was never given back."""

import threading

from engine.paperwork import documents


def test_a_thread_lays_out_every_document_with_the_same_fonts_and_another_thread_with_its_own():
    first = documents._font_config()
    assert documents._font_config() is first
    other = []
    thread = threading.Thread(target=lambda: other.append(documents._font_config()))
    thread.start()
    thread.join()
    assert other[0] is not first
