/// Where one tensor's elements lie inside a mapped weight file; validated when the file is opened.
struct StoredTensor {
    /// Name, dtype and shape.
    var info: TensorInfo
    /// Index of the mapped file in the checkpoint's file list.
    var fileIndex: Int
    /// Byte offset, from the start of the file, of the element at index (0, 0, …).
    var byteOffset: Int
    /// Step between neighbours along each axis, in elements (torch views may be transposed).
    var strides: [Int]
    /// Product of the shape.
    var elementCount: Int

    /// Whether the elements lie row-major without gaps, so the mapped bytes can be handed out as they are.
    var isContiguous: Bool {
        guard elementCount > 1 else { return true }
        var expected = 1
        for axis in info.shape.indices.reversed() where info.shape[axis] != 1 {
            guard strides[axis] == expected else { return false }
            expected *= info.shape[axis]
        }
        return true
    }
}

/// The tensors and metadata read from one weight file.
struct ParsedWeightFile {
    var tensors: [String: StoredTensor]
    var metadata: [String: String]
}
