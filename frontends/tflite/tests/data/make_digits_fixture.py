"""Extracts sample 0 of ../../../../../shared/models/digits_cnn_tflite_ref.npz into
digits_ref_sample0.f32 (stdlib only; numpy not needed).

Layout (little-endian f32): the NHWC input [1, 32, 32, 3] (3072 values) followed
by the reference logits [1, 10] from the LiteRT interpreter.
Run: python3 make_digits_fixture.py /path/to/digits_cnn_tflite_ref.npz
"""
import ast
import sys
import zipfile


def npy_sample0(raw: bytes) -> bytes:
    assert raw[:6] == b"\x93NUMPY"
    header_len = int.from_bytes(raw[8:10], "little")
    header = ast.literal_eval(raw[10:10 + header_len].decode("latin1"))
    assert header["descr"] == "<f4" and not header["fortran_order"]
    shape = header["shape"]
    per_sample = 4
    for d in shape[1:]:
        per_sample *= d
    body = raw[10 + header_len:]
    return body[:per_sample]


def main() -> None:
    z = zipfile.ZipFile(sys.argv[1])
    data = npy_sample0(z.read("serving_default_input:0.npy"))
    data += npy_sample0(z.read("StatefulPartitionedCall_1:0.npy"))
    with open("digits_ref_sample0.f32", "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
