import Foundation

/// Reads a `pytorch_model.bin` written by `torch.save` (the zip format of torch ≥ 1.6).
///
/// The archive holds `<prefix>/data.pkl`, a pickle of the state dict whose tensors refer to
/// storages by key, and `<prefix>/data/<key>`, each storage's raw little-endian bytes. The prefix
/// is the file's stem at save time, so it varies between checkpoints.
enum TorchArchive {
    /// Lists the tensors of a mapped torch zip and checks each lies inside its storage.
    static func parse(_ file: MappedFile, fileIndex: Int) throws -> ParsedWeightFile {
        let url = file.url
        // Legacy files are a bare pickle stream (PROTO first); zip archives start with a local header.
        if file.bytes.first == 0x80 {
            throw CheckpointError.legacyTorchFormat(url)
        }
        let zip = try ZipArchive(file)
        let pickles = zip.entries.filter { entry in
            entry.name.hasSuffix("/data.pkl") && entry.name.filter { $0 == "/" }.count == 1
        }
        guard let pickle = pickles.first else {
            throw CheckpointError.missingArchiveEntry(url, entry: "<prefix>/data.pkl")
        }
        guard pickles.count == 1 else {
            throw CheckpointError.invalidZip(url, reason: "several data.pkl entries: \(pickles.map(\.name))")
        }
        let prefix = String(pickle.name.dropLast("data.pkl".count))
        if let byteOrderEntry = zip.entry(prefix + "byteorder") {
            let byteOrder = String(decoding: try zip.data(of: byteOrderEntry), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard byteOrder == "little" else {
                throw CheckpointError.unsupportedByteOrder(url, byteOrder: byteOrder)
            }
        }

        var unpickler = Unpickler(bytes: try zip.data(of: pickle), url: url)
        var tensors: [String: StoredTensor] = [:]
        for (name, pickled) in try unpickler.loadStateDict() {
            let storageName = prefix + "data/" + pickled.storageKey
            guard let entry = zip.entry(storageName) else {
                throw CheckpointError.missingArchiveEntry(url, entry: storageName)
            }
            let storage = try zip.data(of: entry)
            guard pickled.storageByteCount <= storage.count else {
                throw CheckpointError.invalidTensorLayout(url, tensor: name, reason:
                    "storage '\(pickled.storageKey)' declares \(pickled.storageByteCount) bytes but the archive holds \(storage.count)")
            }
            let elementCount = try checkLayout(pickled, name: name, url: url)
            tensors[name] = StoredTensor(
                info: TensorInfo(name: name, dtype: pickled.dtype, shape: pickled.shape), fileIndex: fileIndex,
                byteOffset: entry.dataOffset + (elementCount == 0 ? 0 : pickled.offset * pickled.dtype.size),
                strides: pickled.strides, elementCount: elementCount)
        }
        return ParsedWeightFile(tensors: tensors, metadata: [:])
    }

    /// Checks that every element the view (offset, shape, strides) reaches lies inside the storage; returns the element count.
    private static func checkLayout(_ tensor: PickledTensor, name: String, url: URL) throws -> Int {
        func fail(_ reason: String) -> CheckpointError {
            .invalidTensorLayout(url, tensor: name, reason: reason)
        }
        guard let elementCount = checkedElementCount(tensor.shape) else {
            throw fail("shape \(tensor.shape) has a negative dimension or overflows")
        }
        guard tensor.offset >= 0, tensor.strides.allSatisfy({ $0 >= 0 }) else {
            throw fail("negative storage offset \(tensor.offset) or stride \(tensor.strides)")
        }
        guard elementCount > 0 else { return 0 }
        var lastElement = tensor.offset
        for (size, stride) in zip(tensor.shape, tensor.strides) {
            let (step, stepOverflow) = (size - 1).multipliedReportingOverflow(by: stride)
            let (sum, sumOverflow) = lastElement.addingReportingOverflow(step)
            guard !stepOverflow, !sumOverflow else { throw fail("strides \(tensor.strides) overflow") }
            lastElement = sum
        }
        let (elementEnd, endOverflow) = lastElement.addingReportingOverflow(1)
        let (endByte, byteOverflow) = elementEnd.multipliedReportingOverflow(by: tensor.dtype.size)
        guard !endOverflow, !byteOverflow, endByte <= tensor.storageByteCount else {
            throw fail("offset \(tensor.offset), shape \(tensor.shape) and strides \(tensor.strides) reach past the "
                + "\(tensor.storageByteCount)-byte storage '\(tensor.storageKey)'")
        }
        // A view with more elements than its storage repeats some (stride 0, as `expand` makes); refusing
        // it bounds what `floats` materialises by the file size, whatever a hostile pickle declares.
        guard elementCount <= tensor.storageByteCount / tensor.dtype.size else {
            throw fail("shape \(tensor.shape) with strides \(tensor.strides) repeats elements of its storage "
                + "(an expanded view); save the tensor with .contiguous()")
        }
        return elementCount
    }
}
