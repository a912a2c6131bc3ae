// Jest runs the TypeScript tests through ts-jest (transpile only: `npm run build` type-checks); tests mirror lib/ under test/.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': 'ts-jest',
  },
  testTimeout: 60000,
};
