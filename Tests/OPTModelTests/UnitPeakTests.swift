import OPTKernels
import Testing

@Suite("Unit peaks")
struct UnitPeakTests {
    /// Every unit the processor has is timed, at a plausible finite rate, and none that it lacks.
    @Test func everyUnitThisProcessorHasIsTimed() {
        let present = ArithmeticUnit.allCases.filter { $0.instruction != nil }
        let one = UnitPeak.measure(pool: ComputePool(threads: 1), seconds: 0.02)
        #expect(one.map(\.unit) == present)
        #expect(one.allSatisfy { $0.operationsPerSecond.isFinite && $0.operationsPerSecond > 1e8 && $0.instruction == $0.unit.instruction })
        #if arch(x86_64) || arch(arm64)
        #expect(present.contains(.f32), "AVX2 with FMA or NEON multiply-adds are on every processor the tests run on")
        #endif
    }
}
