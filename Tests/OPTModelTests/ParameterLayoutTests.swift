import Foundation
import OPTCheckpoint
import Testing
@testable import OPTModel

/// The one description of OPT's tensors: each listed once, and loading and export go through it.
struct ParameterLayoutTests {
    @Test("each tensor is listed once, packed end to end in the vector", arguments: Fixtures.modelNames)
    func eachTensorOnce(name: String) throws {
        let config = try OPTConfig.load(from: Fixtures.models.appendingPathComponent(name).appendingPathComponent("config.json"))
        let layout = ParameterLayout(config: config)
        #expect(Set(layout.slots.map(\.name)).count == layout.slots.count)
        #expect(layout.slots.map(\.offset) == Array(layout.slots.reduce(into: [0]) { $0.append($0.last! + $1.count) }.dropLast()))
        #expect(layout.slots.map(\.count).reduce(0, +) == layout.count)
    }

    @Test("a loaded model holds every slot once, and its export reloads to the same tensors", arguments: Fixtures.modelNames)
    func loadExportRoundTrip(name: String) throws {
        let directory = Fixtures.models.appendingPathComponent(name)
        let model = try OPTModel(directory: directory)
        let layout = model.weights.layout
        let held = model.weights.namedMatrices.map(\.slot) + model.weights.namedFloatTensors.map(\.slot)
        let expected = model.weights.tiedHead && !layout.tiedHead ? layout.slots.filter { $0 != layout.lmHead } : layout.slots
        #expect(held.map(\.name).sorted() == expected.map(\.name).sorted())

        let out = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-layout-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        try CheckpointExport.write(model, companionsFrom: directory, to: out)
        #expect(try Checkpoint(directory: out).tensorNames == expected.map(\.name).sorted())
        let reloaded = try OPTModel(directory: out)
        for ((slot, matrix), (again, reread)) in zip(model.weights.namedMatrices, reloaded.weights.namedMatrices) {
            #expect(slot == again && matrix.format == reread.format)
            #expect(Array(UnsafeRawBufferPointer(start: matrix.data, count: matrix.byteCount))
                == Array(UnsafeRawBufferPointer(start: reread.data, count: reread.byteCount)), "\(slot.name)")
        }
        for ((slot, values), (again, reread)) in zip(model.weights.namedFloatTensors, reloaded.weights.namedFloatTensors) {
            #expect(slot == again && values.array == reread.array, "\(slot.name)")
        }
    }
}
